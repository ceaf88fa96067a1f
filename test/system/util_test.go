package system

import (
	"github.com/lib/pq"
)

func pqArray(ids []int) any {
	a := make([]int64, len(ids))
	for i, id := range ids {
		a[i] = int64(id)
	}
	return pq.Array(a)
}
