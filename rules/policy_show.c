/* policy_show: being written. */
enum { policy_show_placeholder };
