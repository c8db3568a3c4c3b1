/* policy_lex: being written. */
enum { policy_lex_placeholder };
