package remote

import (
	"strconv"

	"signstar/pkg/refusal"
)

// Log asks for the transparency log (issue 18): read-only, for any client
// of the account.
const Log Action = "log"

// LogQuery is what a log command asks for.
//
//	log checkpoint               the latest signed checkpoint
//	log proof INDEX [SIZE]       the leaf at INDEX and its inclusion proof
//	                             in the tree of SIZE leaves; no SIZE: in the
//	                             latest checkpoint's tree, which follows
//	log consistency OLD NEW      the proof that the tree of NEW leaves
//	                             extends the tree of OLD
//
// Numbers are decimal, without sign or leading zero.
type LogQuery struct {
	What LogWhat
	// Index is the leaf (proof); Old and Size the tree sizes (Size 0 in
	// a proof: the latest checkpoint's).
	Index, Old, Size int64
}

// LogWhat names a log command.
type LogWhat string

const (
	LogCheckpoint  LogWhat = "checkpoint"
	LogProof       LogWhat = "proof"
	LogConsistency LogWhat = "consistency"
)

func parseLog(args []string) (Command, error) {
	if len(args) == 0 {
		return Command{}, refusal.Errorf("log needs checkpoint, proof INDEX [SIZE] or consistency OLD NEW")
	}
	q := LogQuery{What: LogWhat(args[0])}
	nums, err := logNumbers(args[1:])
	if err != nil {
		return Command{}, err
	}
	switch {
	case q.What == LogCheckpoint && len(nums) == 0:
	case q.What == LogProof && (len(nums) == 1 || len(nums) == 2):
		q.Index = nums[0]
		if len(nums) == 2 {
			q.Size = nums[1]
			if q.Index >= q.Size {
				return Command{}, refusal.Errorf("log proof: index %d is not in a tree of %d", q.Index, q.Size)
			}
		}
	case q.What == LogConsistency && len(nums) == 2:
		q.Old, q.Size = nums[0], nums[1]
		if q.Old == 0 || q.Old > q.Size {
			return Command{}, refusal.Errorf("log consistency: want 0 < OLD <= NEW, got %d and %d", q.Old, q.Size)
		}
	case q.What == LogCheckpoint:
		return Command{}, refusal.Errorf("log checkpoint takes no arguments")
	case q.What == LogProof:
		return Command{}, refusal.Errorf("log proof takes INDEX and an optional tree SIZE")
	case q.What == LogConsistency:
		return Command{}, refusal.Errorf("log consistency takes two tree sizes, OLD and NEW")
	default:
		return Command{}, refusal.Errorf("unknown log command %s: want checkpoint, proof or consistency", quote(args[0]))
	}
	return Command{Action: Log, Log: q}, nil
}

// logNumbers reads tree sizes and indexes: decimal, no sign, no leading
// zero, at most 2^63-1, so one number has one spelling in the record.
func logNumbers(args []string) ([]int64, error) {
	var nums []int64
	for _, a := range args {
		n, err := strconv.ParseInt(a, 10, 64)
		if err != nil || n < 0 || strconv.FormatInt(n, 10) != a {
			return nil, refusal.Errorf("log: %s is not a decimal number", quote(a))
		}
		nums = append(nums, n)
	}
	return nums, nil
}
