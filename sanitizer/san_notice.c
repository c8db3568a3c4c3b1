/* san_notice: notice templates (see san_notice.h).
 * Contract: parsing a template is all-or-nothing; nothing prints; an
 * operator file is capped at 64 KiB and 4 KiB per value. */
#include "common/utf8.h"
#include "sanitizer/san_notice.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sanitizer/san_charset.h"

static const char *const KEYS[] = {
	"title",
	"intro",
	"html",
	"malformed",
	"failed",
	"utf7",
	"removed",
	"item",
	"item_tnef",
	"flag_bidi",
	"flag_double",
	"flag_exec",
	"flag_encrypted",
	"flag_mismatch",
	"blob_line",
	"not_kept",
	"image",
	"forward",
	"forward_end",
	"end",
	"empty",
	"url",
	"url_removed",
	"hidden",
	/* the file portals (docs/portal.md, "The notice and its link") */
	"cdr_pending",
	"cdr_ready",
	"cdr_none",
	"portal_link",
	"portal_mail",
	"portal_original",
	"portal_failed",
};
#define NKEYS (sizeof(KEYS) / sizeof(KEYS[0]))

static const char *const JA[NKEYS] = {
	"【関所 無害化通知】",
	"このメールは LGWAN 接続系への受け渡しのため無害化されました（テキスト化・添付ファイル削除）。",
	"HTML メールをテキストに変換しました。リンクは無効化して宛先を併記しています。",
	"注意: このメールは構造に異常があるため（{reason}）、テキスト以外をすべて削除しました。",
	"注意: このメールは安全に処理できなかったため（{reason}）、原本を隔離しました。取り出せたテキストのみ以下に示します。",
	"注意: UTF-7 で符号化された部分は復号していません（本文は削除、ヘッダーは符号化されたまま表示）。",
	"削除したもの（{count} 件）:",
	"・{name}\n  申告形式: {declared} / 実際の形式: {detected} / サイズ: {size} バイト\n  SHA-256: {sha256}\n  隔離ID: {qid}",
	"  winmail.dat (TNEF) の中身: {contents}",
	"  警告: ファイル名に表示を偽装する制御文字があります（<U+....> で表示）。",
	"  警告: 二重拡張子のファイル名です。",
	"  警告: 実行可能な形式の拡張子です。",
	"  警告: パスワード付き暗号化ファイル（PPAP）です。中身は検査できません。",
	"  警告: 申告された形式と実際の形式が一致しません。",
	"[本文中の符号化データ（{kind}、名前: {name}）を削除しました（隔離ID: {qid}）]",
	"(未保存)",
	"画像",
	"---------- 転送されたメッセージ ----------",
	"---------- 転送されたメッセージここまで ----------",
	"------------------------------------------------------------",
	"（本文はありません）",
	"本文中のリンクを無効化しました（hxxps[:]// のような表示、または削除）。",
	"[URL 削除]",
	"注意: HTML の中で表示されないよう隠されていたテキストを削除しました（{count} 箇所）。",
	"  無害化コピー: 作成中（できしだい下記のリンクから受け取れます）",
	"  無害化コピー: 作成済み（下記のリンクから受け取れます）",
	"  無害化コピー: 作れません（理由: {reason}）",
	"無害化したファイルの受け取り（このメッセージ専用のリンク、有効期限 {expires}）:\n{url}",
	"無害化コピーは、できあがりしだい別のメールでお送りします。",
	"原本が必要な場合は、上記のページから取り出しを申請できます（承認が必要です）。",
	"注意: ファイル受け取り用のリンクを作成できませんでした。必要な場合は隔離IDを添えて管理者に連絡してください。",
};

static const char *const EN[NKEYS] = {
	"[Sekisho sanitisation notice]",
	"This message was sanitised for delivery into the LGWAN segment (converted to text, attachments removed).",
	"The HTML message was converted to text. Links are disabled and their targets shown.",
	"Warning: this message is malformed ({reason}); everything but its text was removed.",
	"Warning: this message could not be processed safely ({reason}); the original was quarantined. Only the text that could be recovered is shown below.",
	"Warning: UTF-7 encoded content was not decoded (bodies removed, headers shown still encoded).",
	"Removed ({count}):",
	"- {name}\n  declared type: {declared} / actual type: {detected} / size: {size} bytes\n  SHA-256: {sha256}\n  quarantine id: {qid}",
	"  contents of winmail.dat (TNEF): {contents}",
	"  WARNING: the file name contains characters that disguise it (shown as <U+....>).",
	"  WARNING: the file name has a double extension.",
	"  WARNING: the extension is an executable type.",
	"  WARNING: password-protected encrypted file (PPAP); its contents cannot be checked.",
	"  WARNING: the declared type does not match the actual type.",
	"[encoded data in the text ({kind}, name: {name}) removed (quarantine id: {qid})]",
	"(not kept)",
	"image",
	"---------- Forwarded message ----------",
	"---------- End of forwarded message ----------",
	"------------------------------------------------------------",
	"(no body text)",
	"Links in the text were disabled (shown as hxxps[:]//... or removed).",
	"[URL removed]",
	"Warning: text hidden from view in the HTML was removed ({count} places).",
	"  safe copy: being made (available from the link below when ready)",
	"  safe copy: already available (from the link below)",
	"  safe copy: no copy possible: {reason}",
	"Safe copies of the files (a link for this message only, valid until {expires}):\n{url}",
	"The safe copies will follow in a separate mail as soon as they are made.",
	"If you need an original, you can request it on that page (an approver must agree).",
	"Warning: the link for the files could not be made. If you need them, tell the administrator the quarantine ids.",
};

struct san_notice {
	char *v[NKEYS];
};

void san_notice_free(struct san_notice *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < NKEYS; i++)
		free(n->v[i]);
	free(n);
}

static const char *const *builtin(const char *lang)
{
	if (!lang || strcmp(lang, "ja") == 0)
		return JA;
	if (strcmp(lang, "en") == 0)
		return EN;
	return NULL;
}

int san_notice_new(const char *lang, struct san_notice **ret)
{
	const char *const *b = builtin(lang);
	if (!b)
		return -EINVAL;
	struct san_notice *n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	for (size_t i = 0; i < NKEYS; i++)
		if (!(n->v[i] = strdup(b[i]))) {
			san_notice_free(n);
			return -ENOMEM;
		}
	*ret = n;
	return 0;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t l = strlen(s);
	while (l && (s[l - 1] == ' ' || s[l - 1] == '\t' || s[l - 1] == '\r'))
		s[--l] = '\0';
	return s;
}

int san_notice_load(const char *lang, const char *path, struct san_notice **ret, char *why, size_t whylen)
{
	struct san_notice *n;
	int r = san_notice_new(lang, &n);
	if (r < 0) {
		snprintf(why, whylen, "unknown language");
		return r;
	}
	FILE *f = fopen(path, "re");
	if (!f) {
		r = -errno;
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		san_notice_free(n);
		return r;
	}
	char line[4200];
	unsigned ln = 0;
	size_t total = 0;
	r = 0;
	while (fgets(line, sizeof(line), f)) {
		ln++;
		total += strlen(line);
		if (total > 65536 || (strlen(line) == sizeof(line) - 1 && line[sizeof(line) - 2] != '\n')) {
			snprintf(why, whylen, "%s:%u: file or line too long", path, ln);
			r = -EINVAL;
			break;
		}
		line[strcspn(line, "\n")] = '\0';
		char *s = trim(line);
		if (!*s || *s == '#')
			continue;
		if (!utf8_valid(s, strlen(s))) {
			snprintf(why, whylen, "%s:%u: invalid UTF-8", path, ln);
			r = -EINVAL;
			break;
		}
		char *eq = strchr(s, '=');
		if (!eq) {
			snprintf(why, whylen, "%s:%u: expected key = value", path, ln);
			r = -EINVAL;
			break;
		}
		*eq = '\0';
		char *k = trim(s), *v = trim(eq + 1);
		size_t i;
		for (i = 0; i < NKEYS; i++)
			if (strcmp(KEYS[i], k) == 0)
				break;
		if (i == NKEYS) {
			snprintf(why, whylen, "%s:%u: unknown key '%.40s'", path, ln, k);
			r = -EINVAL;
			break;
		}
		char *val = malloc(strlen(v) + 1), *o = val;
		if (!val) {
			r = -ENOMEM;
			break;
		}
		for (const char *p = v; *p; p++) {
			if (p[0] == '\\' && p[1] == 'n') {
				*o++ = '\n';
				p++;
			} else if (p[0] == '\\' && p[1] == '\\') {
				*o++ = '\\';
				p++;
			} else
				*o++ = *p;
		}
		*o = '\0';
		free(n->v[i]);
		n->v[i] = val;
	}
	fclose(f);
	if (r < 0) {
		san_notice_free(n);
		return r;
	}
	*ret = n;
	return 0;
}

const char *san_notice_get(const struct san_notice *n, const char *key)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(KEYS[i], key) == 0)
			return n->v[i];
	return "";
}

void san_notice_render(const struct san_notice *n, const char *key, const char *const *kv, struct strbuf *out)
{
	const char *t = san_notice_get(n, key);
	while (*t) {
		if (*t == '{') {
			const char *e = strchr(t, '}');
			bool done = false;
			for (size_t i = 0; e && kv && kv[i]; i += 2) {
				size_t kl = strlen(kv[i]);
				if ((size_t)(e - t - 1) == kl && strncmp(t + 1, kv[i], kl) == 0) {
					strbuf_puts(out, kv[i + 1] ? kv[i + 1] : "");
					t = e + 1;
					done = true;
					break;
				}
			}
			if (done)
				continue;
		}
		strbuf_putc(out, *t++);
	}
}

int san_notice_dump(const char *lang, FILE *f)
{
	const char *const *b = builtin(lang);
	if (!b)
		return -EINVAL;
	fprintf(f,
		"# sekisho-sanitize notice template (%s).  key = value; \\n is a line break;\n"
		"# {placeholders} are filled in.  Missing keys keep the built-in text.\n",
		lang ? lang : "ja");
	for (size_t i = 0; i < NKEYS; i++) {
		fprintf(f, "%s = ", KEYS[i]);
		for (const char *p = b[i]; *p; p++) {
			if (*p == '\n')
				fputs("\\n", f);
			else if (*p == '\\')
				fputs("\\\\", f);
			else
				fputc(*p, f);
		}
		fputc('\n', f);
	}
	return 0;
}
