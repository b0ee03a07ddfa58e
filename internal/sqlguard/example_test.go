package sqlguard_test

import (
	"fmt"

	"github.com/dorismcp/doris/internal/sqlguard"
)

func ExampleCheck() {
	st, err := sqlguard.Check("SELECT name FROM users WHERE id = 1; -- look up one user")
	if err != nil {
		fmt.Println(err)
		return
	}
	sql := st.SQL
	if st.SelectOffset >= 0 && !st.HasHint {
		o := st.SelectOffset + len("SELECT")
		sql = sql[:o] + " /*+ SET_VAR(query_timeout=30) */" + sql[o:]
	}
	fmt.Println(st.Kind)
	fmt.Println(sql)

	_, err = sqlguard.Check("SELECT 1; DROP TABLE users")
	fmt.Println(err)
	// Output:
	// SELECT
	// SELECT /*+ SET_VAR(query_timeout=30) */ name FROM users WHERE id = 1
	// sqlguard: rejected: multiple statements are not allowed; send one statement per call (offset 10)
}

func ExampleQuoteQualified() {
	table, err := sqlguard.QuoteQualified("sales.`order items`")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("SHOW CREATE TABLE " + table)
	fmt.Println("SHOW TABLES LIKE " + sqlguard.QuoteString("it's%"))
	// Output:
	// SHOW CREATE TABLE `sales`.`order items`
	// SHOW TABLES LIKE 'it''s%'
}
