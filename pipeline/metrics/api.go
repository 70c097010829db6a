package metrics

// ---- This file is the contract; bodies are filled in by the metrics work. ----

// Kind is how a prediction is expressed.
type Kind int

const (
	Prob    Kind = iota // probability in [0, 1]
	Logit               // unnormalised log-odds / logits
	Logprob             // natural log of a probability, <= 0
)

// Invalid says why a row's values are out of their domain; 0 means valid.
type Invalid uint8

const (
	Valid          Invalid = iota
	NaNValue               // a needed value is NaN
	ProbRange              // probability outside [0, 1]
	ProbSum                // class probabilities do not sum to 1 within 1e-3
	LogprobRange           // log-probability above 1e-6
	InfiniteLogit          // logit is +-Inf (or all logits -Inf)
	LabelDomain            // label not one of the accepted values / not a class index in [0, C)
	TargetSum              // soft target entries outside [0, 1] or not summing to 1 within 1e-3
	LengthMismatch         // list length differs from the number of classes
	WeightDomain           // weight negative, NaN or infinite
	InfiniteValue          // a value that must be finite is ±Inf (regression prediction or label)
)

// String describes the problem for an error message.
func (v Invalid) String() string {
	switch v {
	case Valid:
		return "valid"
	case NaNValue:
		return "NaN value"
	case ProbRange:
		return "probability outside [0, 1]"
	case ProbSum:
		return "class probabilities do not sum to 1 (tolerance 1e-3)"
	case LogprobRange:
		return "log-probability above 1e-6"
	case InfiniteLogit:
		return "logit is infinite"
	case LabelDomain:
		return "label out of its domain"
	case TargetSum:
		return "soft target entries must lie in [0, 1] and sum to 1 (tolerance 1e-3)"
	case LengthMismatch:
		return "list length differs from the number of classes"
	case WeightDomain:
		return "weight must be finite and >= 0"
	case InfiniteValue:
		return "value is infinite"
	}
	return "invalid value"
}
