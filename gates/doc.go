// Package gates judges the quality gates of SPEC §6 on a run's summary rows.
//
// It is pure: the caller turns summary.parquet rows (this run's, and a
// baseline's through the loader given to Evaluate) into Rows, and writes the
// Results (writers.WriteGatesJSON, writers.Report, writers.WriteJUnit). A gate
// gives one Result per summary row it selects; any failing Result means
// exit code 1.
//
// # Selection
//
// A gate without `where` (or with an empty one) selects the overall row
// (group_set ""). Otherwise it selects every row, of any grouping set, whose
// set contains every `where` column with that value: the key's text is
// compared with the `where` string (the caller writes each where value as
// the text of its key type: pipeline's whereText reads 2.50 as 2.5, True
// as true, a timestamp as a date and time), and a null key never matches. A gate
// whose `where` selects no row gives one failing Result, with Group taken
// from the `where` map, group_set the where's columns joined by "," (in
// the order of a grouping set of just those columns, else by name; not "",
// which is the overall row's) and a reason such as
// "no summary row has model = candidate", so a typo cannot pass silently.
//
// # Checks, in order
//
//  1. A baseline that cannot be loaded fails every row the gate selects, with
//     the loader's error as the reason (whatever min_rows says: a broken
//     baseline path is never hidden). Each path is loaded once per Evaluate.
//  2. A metric missing from the summary, a missing baseline row ("no baseline
//     row for model=a (group_set model)"), or a null metric fails. The
//     baseline row is the one with the same group_set and the same keys
//     (column, null flag, text); if a baseline has duplicates, the first wins.
//  3. min/max: passes when min <= value <= max. Limit reports the bound
//     crossed, else max if set, else min.
//  4. baseline with max_increase x: change = (new - base) / |base| must be
//     <= x; the limit reported is base + x*|base| (SPEC's base * (1 + x) for
//     the usual positive base; for a negative base this keeps the limit
//     consistent with the rule). With max_increase_abs d: new - base <= d,
//     limit base + d. With both, both must hold and the smaller limit is
//     reported. A null baseline metric, or a baseline without the metric's
//     column, fails. On a baseline of 0 a relative gate's limit is 0
//     (SPEC's base * (1 + x)): the same 0 passes, any rise is an infinite
//     relative change and fails, a fall passes. On a baseline of +Inf (a
//     loss can be) the limit is +Inf: +Inf again is no change and passes,
//     a finite value is a fall of 100% (RelativeChange) and passes. Change
//     is new - base (0 for +Inf to +Inf); Relative tells reports to show it
//     as a percentage of the baseline. If a gate also has min/max, those
//     are checked first and the baseline limit is the one reported.
//  5. significance k (CE-family metrics, see CrossEntropyScale): when the
//     baseline limit is exceeded, the gate still passes if the change of
//     cross_entropy (new row's minus baseline row's, whatever the gated
//     metric) is <= k * sqrt(se_new^2 + se_base^2), se being each row's
//     cross_entropy_stderr (null or missing counts as 0). The reason then
//     says the change is within noise. A null cross_entropy in either row,
//     or a non-finite change, fails. significance on another metric (which
//     config validation should refuse) fails with a reason saying so.
//  6. min_rows n: a row whose "rows" count is below n is not judged (a
//     missing count counts as 0): it passes with reason "not judged: 12
//     rows < min_rows 50"; its numbers are still reported.
//
// Gate settings that give no limit (no min, max, max_increase or
// max_increase_abs; a baseline without an increase; an increase without a
// baseline) fail with a reason naming the problem. baseline_rows and join
// (paired comparison) are not implemented here; config validation refuses
// them.
//
// # Reasons and numbers
//
// A reason is one line, in words, with the numbers: "log_loss 0.412 > max
// 0.35", "passed: log_loss 0.31 <= max 0.35", "perplexity rose 1.82% >
// max_increase 1% (baseline 12.1, now 12.32), and the cross_entropy change
// 0.0141 exceeds 2 x combined stderr 0.00315 = 0.0063". Numbers are printed
// with %g and 6 significant digits (3 for percentages and noise), more when
// two different numbers compared in a reason would otherwise look equal.
//
// In JSON (Result.MarshalJSON) a non-finite number, which JSON cannot hold,
// is written as null; the reason still carries it ("log_loss +Inf > max
// 0.35").
package gates
