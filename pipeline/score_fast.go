package pipeline

import (
	"github.com/evaljob/evaljob/pipeline/metrics"
	"github.com/evaljob/evaljob/readers"
)

// Fast paths for the common shapes of the hot per-row loops of score.go and
// score_tasks.go. Each one handles a chunk whole or not at all: it first
// checks that every row of the chunk takes the plain way through the
// general loop (no null, no invalid value, no weight, no text columns), and
// otherwise reports false having changed nothing, so the general loop runs
// and settles errors and invalid rows as always. Where it does run, it adds
// the same terms to the same statistics as the general loop (tests compare
// the two paths' outputs byte for byte).
//
// Any new per-row rule in the general loops (a join, a new column) must be
// excluded here in the guard, or the fast path taught it.

// fastPaths turns the fast paths on; tests turn it off to compare.
var fastPaths = true

// scoreTokenLongFast is scoreToken for the long layout (one row per token, a
// scalar log-probability) with an integer or dictionary sequence column and
// no weight, bytes or words column, in runs of consecutive rows of one cell
// and one sequence: one sequence lookup and one count per run, one exact add
// per token.
func (s *scorer) scoreTokenLongFast(ch *readers.Chunk, unit int, tables []*stats) bool {
	p := s.p
	if !fastPaths || p.layout != tokenLong || p.seqCol < 0 || p.weightCol >= 0 || p.bytesCol >= 0 || p.wordsCol >= 0 {
		return false
	}
	pred, seqCol := ch.Columns[p.predCols[0]], ch.Columns[p.seqCol]
	if pred.Valid != nil || seqCol.Valid != nil || (seqCol.Ints == nil && seqCol.Codes == nil) {
		return false // nulls in the chunk, or a float or plain string sequence
	}
	n := ch.Len
	lps := s.pred[:n]
	toFloat64(pred, lps)
	for i, a := range lps {
		v, inv := metrics.TokenLogprob(a)
		if inv != metrics.Valid {
			return false
		}
		lps[i] = v
	}
	ints, codes := seqCol.Ints, seqCol.Codes
	for i := 0; i < n; {
		c := s.cells[i]
		j := i + 1
		if ints != nil {
			for j < n && s.cells[j] == c && ints[j] == ints[i] {
				j++
			}
		} else {
			for j < n && s.cells[j] == c && codes[j] == codes[i] {
				j++
			}
		}
		st := tables[c]
		seq, v := s.sequence(ch, st, unit, i)
		if v.why != "" {
			panic("pipeline: a non-null integer or dictionary sequence value was refused: " + v.why)
		}
		st.tok.Rows += int64(j - i)
		seq.stats.AddUnitLogprobs(lps[i:j])
		i = j
	}
	return true
}
