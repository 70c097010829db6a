package pipeline

import (
	"errors"
	"slices"
	"strings"

	"github.com/evaljob/evaljob/evalerr"
	"github.com/evaljob/evaljob/readers"
)

// Labels in their own files (SPEC §2): each worker joins its prediction
// chunks to the label store (labelstore.go), whose values are gathered
// into typed columns (labelvalues.go) that the scorers read as if the
// label had been in the prediction files.

// joiner is one worker's scratch space for joining chunks.
type joiner struct {
	keys    keyBatch
	keyCols []*readers.Column
	rows    []int32 // label row of each prediction row, -1 when unmatched
	label   readers.Column
	weight  readers.Column
	cols    []*readers.Column
	view    readers.Chunk
	sink    uint32
}

// join looks up the label row of every row of the prediction chunk ch and
// returns ch with the label-side columns appended (see plan.readCols), and
// the label row of each row (-1: unmatched, including a null key). mark
// records the matches for labels_unmatched.
func (p *plan) join(ch *readers.Chunk, j *joiner, mark bool) (*readers.Chunk, []int32) {
	st := p.labels
	j.rows = slices.Grow(j.rows[:0], ch.Len)[:ch.Len]
	j.keyCols = j.keyCols[:0]
	for _, c := range p.joinCols {
		j.keyCols = append(j.keyCols, ch.Columns[c])
	}
	b := &j.keys
	b.reset()
	b.width = st.width
	b.add(j.keyCols, ch.Len, st.seed)
	const group = 16
	for lo := 0; lo < ch.Len; lo += group {
		hi := min(lo+group, ch.Len)
		j.sink += st.touch(b, lo, hi)
		for i := lo; i < hi; i++ {
			j.rows[i] = -1
			if b.null(i) {
				continue
			}
			if r, _ := st.find(b.at(i), b.hash[i]); r >= 0 {
				j.rows[i] = int32(r)
				if mark {
					st.markMatched(int32(r))
				}
			}
		}
	}
	j.cols = append(j.cols[:0], ch.Columns...)
	if p.labelFromLabels {
		st.label.gather(&j.label, j.rows)
		j.cols = append(j.cols, &j.label)
	}
	if st.weight != nil {
		st.weight.gather(&j.weight, j.rows)
		j.cols = append(j.cols, &j.weight)
	}
	j.view = *ch
	j.view.Columns = j.cols
	return &j.view, j.rows
}

// unmatchedError is the error for prediction row i, which no label row
// matched, under unmatched: error.
func (p *plan) unmatchedError(ch *readers.Chunk, i int) error {
	var key []string
	for _, c := range p.joinCols {
		key = append(key, scalarText(ch.Columns[c], i))
	}
	return &evalerr.InputError{Path: ch.Path, RowGroup: ch.RowGroup, Row: ch.FirstRow + int64(i),
		Column: strings.Join(p.labels.join, ","), Value: strings.Join(key, ","),
		Err: errors.New("no label row has this key (labels.unmatched: skip counts such rows in unlabeled_rows)")}
}
