/* pspace: being written. */
enum { pspace_placeholder };
