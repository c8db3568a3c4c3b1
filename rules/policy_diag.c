/* policy_diag: being written. */
enum { policy_diag_placeholder };
