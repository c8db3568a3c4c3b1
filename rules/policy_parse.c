/* policy_parse: being written. */
enum { policy_parse_placeholder };
