#include <stdio.h>
int main(void) { puts("sekisho-rulec: being written"); return 2; }
