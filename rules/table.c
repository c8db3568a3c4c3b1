/* table: being written. */
enum { table_placeholder };
