/* policy_prove: being written. */
enum { policy_prove_placeholder };
