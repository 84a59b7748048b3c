package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// Job is one payment to collect for an order.
type Job struct {
	OrderID     string
	AmountCents int
	Card        string
}

// Result is the outcome of processing a Job.
type Result struct {
	OrderID string
	Status  string // "captured" or "declined"
	Reason  string
}

// Errors returned by Process for jobs that can never succeed.
var (
	ErrMissingOrder  = errors.New("payment job has no order id")
	ErrInvalidAmount = errors.New("payment amount must be greater than zero")
)

// declinedCards lists test card numbers the processor always declines.
var declinedCards = map[string]bool{
	"4000000000000002": true,
}

// Process decides the outcome of a single payment job. It has no side
// effects, so the worker loop stays thin and this stays easy to test.
func Process(j Job) (Result, error) {
	if j.OrderID == "" {
		return Result{}, ErrMissingOrder
	}
	if j.AmountCents <= 0 {
		return Result{}, fmt.Errorf("order %s: %w", j.OrderID, ErrInvalidAmount)
	}
	if declinedCards[j.Card] {
		return Result{OrderID: j.OrderID, Status: "declined", Reason: "card declined"}, nil
	}
	return Result{OrderID: j.OrderID, Status: "captured"}, nil
}

// Worker drains a queue of payment jobs, processing at most one batch per tick.
type Worker struct {
	Queue     <-chan Job
	Interval  time.Duration
	BatchSize int
	// Report receives every result and error; it must be safe to call from
	// the worker goroutine. A nil Report discards outcomes.
	Report func(Result, error)

	processed atomic.Int64
}

// Processed returns how many jobs the worker has handled so far.
func (w *Worker) Processed() int64 { return w.processed.Load() }

// Run processes jobs until ctx is cancelled or the queue is closed and empty.
func (w *Worker) Run(ctx context.Context) error {
	ticker := time.NewTicker(w.Interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
			if open := w.drain(ctx); !open {
				return nil
			}
		}
	}
}

// drain processes up to BatchSize queued jobs without blocking. It reports
// false once the queue is closed and fully consumed.
func (w *Worker) drain(ctx context.Context) bool {
	batch := w.BatchSize
	if batch <= 0 {
		batch = 1
	}
	for range batch {
		if ctx.Err() != nil {
			return true
		}
		select {
		case j, ok := <-w.Queue:
			if !ok {
				return false
			}
			res, err := Process(j)
			w.processed.Add(1)
			if w.Report != nil {
				w.Report(res, err)
			}
		default:
			return true
		}
	}
	return true
}
