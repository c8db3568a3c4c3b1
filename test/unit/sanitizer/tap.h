/* Tiny check helpers shared by the sanitizer unit tests. */
#pragma once
#include <stdio.h>
#include <string.h>

static int t_fail;
#define CHECK(c, ...) do { if (!(c)) { t_fail++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)
#define T_END() do { printf("%s\n", t_fail ? "FAILED" : "ok"); return t_fail ? 1 : 0; } while (0)
