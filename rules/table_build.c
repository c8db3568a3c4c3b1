/* table_build: being written. */
enum { table_build_placeholder };
