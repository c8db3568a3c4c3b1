/* cdr_reason: what every CDR result key means, for the people who read it:
 * Japanese first (LGWAN staff and operators), English second.  The keys
 * are the stable part (reports, audit records, tests compare them); the
 * texts may be reworded.  A test (cdr-reason) checks that every key the
 * CDR sources use has both texts.
 *
 * Ownership: static strings.  Never logs. */
#include <stddef.h>
#include <string.h>

#include "sanitizer/cdr/cdr.h"

struct cdr_reason {
	const char *key, *ja, *en;
};

/* sorted by key (bsearch; the test checks the order) */
static const struct cdr_reason cdr_reasons[] = {
	{"archive-empty", "アーカイブにファイルがありません。", "The archive holds no file."},
	{"archive-no-copy", "無害化できたファイルがアーカイブ内にありません(理由はファイルごとに記載)。",
	 "No file in the archive could be made safe (each file's reason is in the report)."},
	{"attempts-exhausted", "変換処理が繰り返し失敗しました(原本は隔離保管されています。管理者に連絡してください)。",
	 "The conversion failed on every attempt (the original stays in quarantine; tell the administrator)."},
	{"bad-archive", "アーカイブが壊れているか、読めない形式です。",
	 "The archive is malformed or of a kind that cannot be read."},
	{"bad-entry-type", "アーカイブ内に通常のファイル以外の項目があります。",
	 "The package holds an entry that is not a plain file."},
	{"bad-metadata", "アップロードの情報ファイルが不正です(受け付けませんでした)。",
	 "The upload's metadata is malformed (refused)."},
	{"bad-name", "ファイル名が不正です(パスの外を指す名前など)。",
	 "An entry name is invalid (e.g. it points outside the package)."},
	{"bad-xml", "文書内の XML が壊れています。", "An XML part of the document is malformed."},
	{"bad-zip", "ZIP 形式が壊れています。", "The zip container is malformed."},
	{"blank-page", "白紙になったページがあります(原本には文字があります)。無害化コピーは作りません。",
	 "A page came out blank although the original page has text (a font may be missing); no copy is made."},
	{"conversion-failed", "文書を変換できませんでした(壊れているか、未対応の版の可能性があります)。",
	 "LibreOffice could not load the document (it may be broken or of an unsupported version)."},
	{"converter-output", "変換結果の検査に失敗しました(無害化コピーは作りません)。",
	 "The converter's output failed the checks; no copy is made."},
	{"converter-report", "変換処理の報告が不正でした(無害化コピーは作りません)。",
	 "The converter's report was malformed; no copy is made."},
	{"cpu", "変換が CPU 時間の上限を超えました。", "The conversion exceeded its CPU time limit."},
	{"damaged", "アーカイブ内のこのファイルは壊れていて読めません。",
	 "This file in the archive is damaged and cannot be read."},
	{"decode-error", "画像を読み取れません(壊れているか非対応の形式です)。",
	 "The image cannot be decoded (broken or unsupported)."},
	{"depth-limit", "アーカイブの入れ子が深すぎます。", "Archives are nested too deeply."},
	{"duplicate-name", "同じ名前の項目が複数あります。", "The package holds two entries with the same name."},
	{"empty", "ファイルが空です。", "The file is empty."},
	{"empty-output", "変換結果が空でした(無害化コピーは作りません)。",
	 "The conversion produced nothing; no copy is made."},
	{"encode-error", "無害化コピーの書き出しに失敗しました。", "Writing the safe copy failed."},
	{"encrypted", "暗号化またはパスワード付きのため変換できません。パスワードが分かれば変換できます。",
	 "The file is encrypted or password-protected; it can be converted once the password is given."},
	{"entry-limit", "アーカイブ内の項目数が上限を超えています。", "The package holds more entries than allowed."},
	{"entry-size-limit", "展開後の項目サイズが上限を超えています。", "An entry expands beyond the size limit."},
	{"exit-status", "変換処理が失敗しました(ファイルが壊れている可能性があります)。",
	 "The converter failed (the file may be malformed)."},
	{"hash-mismatch", "アップロードされたファイルの内容が送信時の SHA-256 と一致しません(受け付けませんでした)。",
	 "An uploaded file does not match the SHA-256 it was sent with (refused)."},
	{"height-limit", "画像の高さが上限を超えています。", "The image is taller than allowed."},
	{"input-limit", "ファイルが大きすぎます。", "The file is larger than allowed."},
	{"input-size-limit", "ファイルが大きすぎます。", "The file is larger than allowed."},
	{"internal-error", "無害化処理の内部エラーです(管理者に連絡してください)。",
	 "Internal error in the CDR service (tell the administrator)."},
	{"io-error", "ファイルの読み書きに失敗しました。", "Reading or writing a file failed."},
	{"line-length-limit", "テキストの 1 行が長すぎます。", "A line of the text is longer than allowed."},
	{"link", "リンク(ショートカット)のため含めません。", "A link, not a file: left out."},
	{"memory", "変換がメモリの上限を超えました。", "The conversion exceeded its memory limit."},
	{"missing-file", "アップロードされたファイルがそろっていません(受け付けませんでした)。",
	 "A file of the upload is missing (refused)."},
	{"name-limit", "ファイル名またはフォルダの階層が長すぎます。",
	 "The file name or its folder path is too long or too deep."},
	{"no-image", "画像データがありません。", "The file holds no image."},
	{"not-an-archive", "アーカイブ(圧縮ファイル)として読めません。", "The file is not a readable archive."},
	{"not-built", "この形式の無害化はまだ実装されていません。", "CDR for this format is not built yet."},
	{"not-ooxml", "Office 文書(OOXML)として読めません。", "The file is not a readable Office Open XML document."},
	{"ok", "無害化コピーを作成しました。", "A safe copy was made."},
	{"original-missing", "隔離保管の原本がありません(保存期間を過ぎたか取り出し済みです)。",
	 "The quarantined original is gone (expired or released)."},
	{"out-of-memory", "メモリが足りず変換できません。", "Out of memory while converting."},
	{"output-cap", "変換結果が大きすぎます。", "The conversion's output exceeded its limit."},
	{"output-size-limit", "変換結果が大きすぎます。", "The conversion's output exceeded its limit."},
	{"page-limit", "ページ数が上限を超えています。", "The document has more pages than allowed."},
	{"pdf-image-limit", "PDF 内の画像が大きすぎます。", "An image in the PDF is larger than allowed."},
	{"pdf-info-page-size", "PDF 変換結果のページの大きさが不正です。",
	 "The PDF converter reported an impossible page size."},
	{"pdf-info-syntax", "PDF 変換結果の報告が不正です。", "The PDF converter's report is malformed."},
	{"pdf-malformed", "PDF が壊れていて読み取れません。", "The PDF is malformed and cannot be read."},
	{"pdf-no-cmaps", "日本語 PDF の表示に必要なデータ(poppler-data)がありません(管理者に連絡してください)。",
	 "poppler-data (the CMaps for Japanese PDFs) is not installed (tell the administrator)."},
	{"pdf-no-ja-font", "日本語フォントがありません(管理者に連絡してください)。",
	 "No Japanese font is installed (tell the administrator)."},
	{"pdf-no-pages", "PDF にページがありません。", "The PDF has no pages."},
	{"pdf-no-qpdf", "PDF の検査に必要な qpdf がありません(管理者に連絡してください)。",
	 "qpdf, needed to check the re-drawn PDF, is not installed (tell the administrator)."},
	{"pdf-render", "PDF のページを画像にできませんでした。", "A page of the PDF could not be rendered."},
	{"pdf-vector-active", "再描画した PDF に動的な要素が残っていたため、コピーを作成しませんでした。",
	 "The re-drawn PDF still had active content; no copy was made."},
	{"pdf-vector-check", "再描画した PDF が検査(qpdf)に合格しませんでした。",
	 "The re-drawn PDF failed the independent check (qpdf)."},
	{"pdf-vector-pages", "再描画した PDF のページ数が原本と一致しません。",
	 "The re-drawn PDF does not have the original's number of pages."},
	{"pixel-limit", "画像の画素数が上限を超えています。", "The image has more pixels than allowed."},
	{"queue-error", "無害化の受付に失敗しました(原本は隔離保管されています)。",
	 "The file could not be queued for CDR (the original stays in quarantine)."},
	{"queue-full", "無害化の待ち行列が満杯のため受け付けませんでした(原本は隔離保管されています)。",
	 "The CDR queue was full; the file was not queued (the original stays in quarantine)."},
	{"ratio-limit", "圧縮率が異常です(圧縮爆弾の疑い)。", "The expansion ratio is abnormal (a compression bomb)."},
	{"sandbox-setup", "隔離環境(サンドボックス)を準備できません(管理者に連絡してください)。",
	 "The sandbox could not be set up (tell the administrator)."},
	{"several-main-parts", "文書の本体が複数あります。", "The document has more than one main part."},
	{"signal", "変換処理が異常終了しました(ファイルが壊れている可能性があります)。",
	 "The converter crashed (the file may be malformed)."},
	{"size-mismatch", "アップロードされたファイルの大きさが送信時と一致しません(受け付けませんでした)。",
	 "An uploaded file does not have the size it was sent with (refused)."},
	{"special-file", "通常のファイルではない項目(デバイスなど)のため含めません。",
	 "Not a plain file (a device or similar): left out."},
	{"timeout", "変換が時間の上限を超えました。", "The conversion exceeded its time limit."},
	{"total-size-limit", "展開後の合計サイズが上限を超えています。",
	 "The package expands beyond the total size limit."},
	{"truncated", "ファイルが途中で切れています。", "The file is truncated."},
	{"unknown-charset", "文字コードを判定できません(テキストではない可能性があります)。",
	 "The character encoding cannot be determined (the file may not be text)."},
	{"unsafe-name", "ファイル名が安全ではありません(フォルダの外や絶対パスを指す名前、ドライブ名、制御文字など)。",
	 "The file name is unsafe (it points outside its folder or to an absolute path, names a drive, or holds control characters)."},
	{"unsupported-format", "この形式は無害化できません(原本は隔離保管されています)。",
	 "This file type cannot be made safe (the original stays in quarantine)."},
	{"unsupported-variant", "この形式の変種には対応していません。", "This variant of the format is not supported."},
	{"width-limit", "画像の幅が上限を超えています。", "The image is wider than allowed."},
	{"wrong-password", "パスワードが違うため、暗号化された ZIP を開けませんでした(もう一度入力してください)。",
	 "The password does not open the encrypted archive (enter it again)."},
	{"xml-depth-limit", "文書内の XML の入れ子が深すぎます。", "An XML part is nested too deeply."},
	{"xml-dtd", "文書内の XML に DTD があります(受け付けません)。", "An XML part carries a DTD (refused)."},
	{"xml-size-limit", "文書内の XML が大きすぎます。", "An XML part is too large."},
	{"xml-write", "文書の再構成に失敗しました。", "Rebuilding an XML part failed."},
	{"zero-size", "画像の大きさが 0 です。", "The image has a zero dimension."},
	{"zip-write", "文書の再構成に失敗しました。", "Writing the rebuilt package failed."},
};

static const struct cdr_reason *cdr_reason_find(const char *key)
{
	size_t lo = 0, hi = sizeof cdr_reasons / sizeof cdr_reasons[0];
	if (!key)
		return NULL;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(key, cdr_reasons[mid].key);
		if (c == 0)
			return &cdr_reasons[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const char *cdr_reason_ja(const char *key)
{
	const struct cdr_reason *r = cdr_reason_find(key);
	return r ? r->ja : key;
}

const char *cdr_reason_en(const char *key)
{
	const struct cdr_reason *r = cdr_reason_find(key);
	return r ? r->en : key;
}

const char *cdr_reason_key(const char *key)
{
	const struct cdr_reason *r = cdr_reason_find(key);
	return r ? r->key : NULL;
}

/* for the test: the i-th key, NULL past the end */
const char *cdr_reason_key_at(size_t i)
{
	return i < sizeof cdr_reasons / sizeof cdr_reasons[0] ? cdr_reasons[i].key : NULL;
}
