package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

func TestProcess(t *testing.T) {
	cases := []struct {
		name    string
		job     Job
		status  string
		wantErr error
	}{
		{"captured", Job{OrderID: "1", AmountCents: 500, Card: "4242424242424242"}, "captured", nil},
		{"declined", Job{OrderID: "2", AmountCents: 500, Card: "4000000000000002"}, "declined", nil},
		{"missing order", Job{AmountCents: 500}, "", ErrMissingOrder},
		{"zero amount", Job{OrderID: "3"}, "", ErrInvalidAmount},
		{"negative amount", Job{OrderID: "4", AmountCents: -1}, "", ErrInvalidAmount},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Process(tc.job)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if res.Status != tc.status {
				t.Errorf("status = %q, want %q", res.Status, tc.status)
			}
			if tc.wantErr == nil && res.OrderID != tc.job.OrderID {
				t.Errorf("order id = %q, want %q", res.OrderID, tc.job.OrderID)
			}
		})
	}
}

func TestWorkerDrainsClosedQueue(t *testing.T) {
	queue := make(chan Job, 5)
	for _, id := range []string{"a", "b", "c"} {
		queue <- Job{OrderID: id, AmountCents: 100}
	}
	queue <- Job{OrderID: "d"} // invalid amount
	close(queue)

	var mu sync.Mutex
	var results []Result
	var errs []error
	w := &Worker{
		Queue:     queue,
		Interval:  time.Millisecond,
		BatchSize: 2,
		Report: func(r Result, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			results = append(results, r)
		},
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := w.Processed(); got != 4 {
		t.Errorf("processed = %d, want 4", got)
	}
	if len(results) != 3 || len(errs) != 1 {
		t.Errorf("results = %d, errors = %d; want 3 and 1", len(results), len(errs))
	}
}

func TestWorkerStopsOnCancel(t *testing.T) {
	queue := make(chan Job) // never receives anything
	w := &Worker{Queue: queue, Interval: time.Millisecond}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()

	time.Sleep(10 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run returned %v, want context.Canceled", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("worker did not stop after cancellation")
	}
}

func TestHealthz(t *testing.T) {
	rec := httptest.NewRecorder()
	healthHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200", rec.Code)
	}
}
