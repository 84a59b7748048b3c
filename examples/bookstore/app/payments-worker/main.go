// Command payments-worker collects payments for Bookstore orders.
package main

import (
	"context"
	"errors"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	queue := make(chan Job, 64)
	go seedDemoJobs(ctx, queue)

	w := &Worker{
		Queue:     queue,
		Interval:  time.Second,
		BatchSize: 10,
		Report: func(r Result, err error) {
			if err != nil {
				log.Printf("payments-worker: rejected job: %v", err)
				return
			}
			if r.Reason != "" {
				log.Printf("payments-worker: order %s %s: %s", r.OrderID, r.Status, r.Reason)
				return
			}
			log.Printf("payments-worker: order %s %s", r.OrderID, r.Status)
		},
	}

	addr := ":" + envOr("HEALTH_PORT", "8081")
	srv := &http.Server{
		Addr:              addr,
		Handler:           healthHandler(),
		ReadHeaderTimeout: 5 * time.Second,
	}
	go func() {
		log.Printf("payments-worker health endpoint on %s", addr)
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Fatalf("payments-worker: %v", err)
		}
	}()

	if err := w.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		log.Printf("payments-worker: %v", err)
	}
	log.Printf("payments-worker: stopping after %d jobs", w.Processed())

	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Printf("payments-worker: shutdown: %v", err)
	}
}

func healthHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if _, err := w.Write([]byte(`{"status":"ok"}` + "\n")); err != nil {
			log.Printf("payments-worker: write response: %v", err)
		}
	})
	return mux
}

// seedDemoJobs feeds the queue with a trickle of sample payments so the
// worker has something to do in a demo deployment.
func seedDemoJobs(ctx context.Context, queue chan<- Job) {
	ticker := time.NewTicker(5 * time.Second)
	defer ticker.Stop()
	n := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			n++
			j := Job{OrderID: "demo-" + strconv.Itoa(n), AmountCents: 1999, Card: "4242424242424242"}
			select {
			case queue <- j:
			case <-ctx.Done():
				return
			}
		}
	}
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}
