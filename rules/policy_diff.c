/* policy_diff: being written. */
enum { policy_diff_placeholder };
