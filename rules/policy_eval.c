/* policy_eval: being written. */
enum { policy_eval_placeholder };
