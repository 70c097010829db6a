package main

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/apache/arrow/go/v17/arrow/array"
)

// TestTokenLayoutsAgree checks the promises the README makes about the
// token fixtures: the long files hold every sequence's tokens once, with a
// constant weight, not contiguous, some split across the two files; the
// list file holds the same tokens in position order plus masked padding,
// with n_bytes / n_words the sums of the long rows.
func TestTokenLayoutsAgree(t *testing.T) {
	type seq struct {
		lp, lp32      []float64
		pos           []int32
		w             []float64
		bytes, words  int64
		files         map[int]bool
		firstRow, end int // row span in long.parquet
	}
	seqs := map[string]*seq{}
	for fi, p := range []string{"token/long.parquet", "token/long-2.parquet"} {
		tb := fixtureTable(p)
		defer tb.release()
		model := tb.col("model").(*array.String)
		doc := tb.col("doc_id").(*array.Int64)
		pos := tb.col("pos").(*array.Int32)
		for i := 0; i < model.Len(); i++ {
			k := fmt.Sprintf("%s/%d", model.Value(i), doc.Value(i))
			s := seqs[k]
			if s == nil {
				s = &seq{files: map[int]bool{}, firstRow: -1}
				seqs[k] = s
			}
			s.lp = append(s.lp, floatAt(tb.col("logprob_f64"), i))
			s.lp32 = append(s.lp32, floatAt(tb.col("logprob"), i))
			s.pos = append(s.pos, pos.Value(i))
			s.w = append(s.w, floatAt(tb.col("weight"), i))
			s.bytes += int64(floatAt(tb.col("n_bytes"), i))
			s.words += int64(floatAt(tb.col("n_words"), i))
			s.files[fi] = true
			if fi == 0 {
				if s.firstRow < 0 {
					s.firstRow = i
				}
				s.end = i + 1
			}
		}
	}
	if len(seqs) != 40 {
		t.Fatalf("%d sequences, want 40", len(seqs))
	}
	split, contiguous := 0, 0
	for k, s := range seqs {
		for i, p := range s.pos {
			if int(p) != i {
				t.Fatalf("%s: positions %v, want 0..n-1 in order (long.parquet then long-2.parquet)", k, s.pos)
			}
		}
		if len(s.pos) < 5 || len(s.pos) > 30 {
			t.Errorf("%s: %d tokens, want 5-30", k, len(s.pos))
		}
		if slices.Min(s.w) != slices.Max(s.w) {
			t.Errorf("%s: weight not constant", k)
		}
		if len(s.files) == 2 {
			split++
		}
		if s.end-s.firstRow == len(s.pos) {
			contiguous++
		}
	}
	if split < 4 || contiguous > 2 {
		t.Errorf("%d sequences split across files (want >= 4), %d contiguous in long.parquet (want <= 2)", split, contiguous)
	}
	cat := seqs["a/0"]
	for i, p := range catProbs {
		if cat.lp[i] != math.Log(p) {
			t.Errorf("cat sentence token %d: logprob %v, want ln %v", i, cat.lp[i], p)
		}
	}
	if cat.bytes != 22 || cat.words != 6 || cat.w[0] != 1 {
		t.Errorf("cat sentence: bytes %d words %d weight %v, want 22, 6, 1", cat.bytes, cat.words, cat.w[0])
	}

	lt := fixtureTable("token/list.parquet")
	defer lt.release()
	model := lt.col("model").(*array.String)
	doc := lt.col("doc_id").(*array.Int64)
	mask := lt.col("mask").(*array.List)
	mv := mask.ListValues().(*array.Boolean)
	if model.Len() != len(seqs) {
		t.Fatalf("list.parquet has %d rows, want %d", model.Len(), len(seqs))
	}
	padded := 0
	for i := 0; i < model.Len(); i++ {
		k := fmt.Sprintf("%s/%d", model.Value(i), doc.Value(i))
		s := seqs[k]
		lp, lp32 := listAt(lt.col("logprobs"), i), listAt(lt.col("logprobs_f32"), i)
		lo, hi := mask.ValueOffsets(i)
		if int(hi-lo) != len(lp) || len(lp32) != len(lp) {
			t.Fatalf("%s: mask, logprobs and logprobs_f32 lengths differ", k)
		}
		n := len(s.lp)
		for j := range lp {
			m := mv.Value(int(lo) + j)
			if m != (j < n) {
				t.Fatalf("%s: mask[%d] = %v", k, j, m)
			}
			if j < n && (lp[j] != s.lp[j] || lp32[j] != s.lp32[j]) {
				t.Errorf("%s: token %d differs from the long layout", k, j)
			}
			if j >= n && lp[j] != 0 {
				t.Errorf("%s: padding %d has logprob %v", k, j, lp[j])
			}
		}
		padded += len(lp) - n
		if b := int64(floatAt(lt.col("n_bytes"), i)); b != s.bytes {
			t.Errorf("%s: n_bytes %d, long rows sum to %d", k, b, s.bytes)
		}
		if w := int64(floatAt(lt.col("n_words"), i)); w != s.words {
			t.Errorf("%s: n_words %d, long rows sum to %d", k, w, s.words)
		}
		if w := floatAt(lt.col("weight"), i); w != s.w[0] {
			t.Errorf("%s: weight %v, long rows have %v", k, w, s.w[0])
		}
	}
	if padded == 0 {
		t.Error("no padding positions in list.parquet")
	}
}
