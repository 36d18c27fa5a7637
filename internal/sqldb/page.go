package sqldb

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/hulian/hulian/internal/fault"
)

// ErrCursor means a listing's cursor is not one of its own.
var ErrCursor = fault.New(fault.Invalid, "", "since is not a cursor of this listing")

// Eq is a column's required value in a page.
type Eq struct {
	Column string
	Value  any
}

// PageCursor is the cursor after a row created at created with id, for
// tables listed by (created_at, id).
func PageCursor(created time.Time, id string) string {
	return strconv.FormatInt(created.UnixNano(), 36) + "." + id
}

// PageQuery returns the query, and its arguments, of a keyset page of
// rows: from ("SELECT … FROM t") those after cursor (empty: from the
// first) that have every eq, in (created_at, id) order, at most limit.
// Column names come from the caller's code, never from a request.
func PageQuery(from, cursor string, eqs []Eq, limit int) (string, []any, error) {
	var afterAt int64 = -1
	var afterID string
	if cursor != "" {
		at, id, ok := strings.Cut(cursor, ".")
		n, err := strconv.ParseInt(at, 36, 64)
		if !ok || err != nil {
			return "", nil, ErrCursor
		}
		afterAt, afterID = n, id
	}
	var b strings.Builder
	b.WriteString(from)
	b.WriteString(" WHERE (created_at > $1 OR created_at = $1 AND id > $2)")
	args := []any{afterAt, afterID}
	for _, e := range eqs {
		args = append(args, e.Value)
		b.WriteString(" AND " + e.Column + " = $" + strconv.Itoa(len(args)))
	}
	args = append(args, limit)
	b.WriteString(" ORDER BY created_at, id LIMIT $" + strconv.Itoa(len(args)))
	return b.String(), args, nil
}

// Row is what a scan reads: a *sql.Row or *sql.Rows.
type Row interface {
	Scan(dest ...any) error
}

// RoleEq is the equality of a listing of a participant's records by its
// role in them: "payer" (column payer) or "payee" (column payeeColumn);
// none for an empty participant (the operator's, of all). ok is false
// for another role.
func RoleEq(participant, role, payeeColumn string) (eqs []Eq, ok bool) {
	switch {
	case participant == "":
		return nil, true
	case role == "payer":
		return []Eq{{Column: "payer", Value: participant}}, true
	case role == "payee":
		return []Eq{{Column: payeeColumn, Value: participant}}, true
	}
	return nil, false
}

// List reads a page of rows (PageQuery's arguments) with scan.
func List[T any](ctx context.Context, db *DB, from, cursor string, eqs []Eq, limit int, scan func(Row) (T, error)) ([]T, error) {
	q, args, err := PageQuery(from, cursor, eqs, limit)
	if err != nil {
		return nil, err
	}
	return Query(ctx, db, q, args, scan)
}

// Query runs a query and reads every row it returns with scan.
func Query[T any](ctx context.Context, db *DB, q string, args []any, scan func(Row) (T, error)) ([]T, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
