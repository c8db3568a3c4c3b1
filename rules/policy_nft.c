/* policy_nft: being written. */
enum { policy_nft_placeholder };
