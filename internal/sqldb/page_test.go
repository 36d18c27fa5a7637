package sqldb

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// TestPageQuery: the query filters by each equality after the cursor;
// a cursor not of this form is refused.
func TestPageQuery(t *testing.T) {
	at := time.Unix(0, 1234567890)
	q, args, err := PageQuery("SELECT id FROM t", PageCursor(at, "x-1"), []Eq{{"payer", "a"}, {"state", "OPEN"}}, 10)
	want := "SELECT id FROM t WHERE (created_at > $1 OR created_at = $1 AND id > $2) AND payer = $3 AND state = $4 ORDER BY created_at, id LIMIT $5"
	if err != nil || q != want || !slices.Equal(args, []any{int64(1234567890), "x-1", "a", "OPEN", 10}) {
		t.Errorf("%q %v %v", q, args, err)
	}
	if _, args, _ := PageQuery("SELECT id FROM t", "", nil, 5); args[0] != int64(-1) {
		t.Errorf("from the first: %v", args)
	}
	for _, bad := range []string{"nodot", "zz!.x", "."} {
		if _, _, err := PageQuery("SELECT id FROM t", bad, nil, 5); !errors.Is(err, ErrCursor) {
			t.Errorf("cursor %q: %v", bad, err)
		}
	}
}
