package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func post(t *testing.T, h http.Handler, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHealthz(t *testing.T) {
	rec := httptest.NewRecorder()
	newServer(newStore()).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200", rec.Code)
	}
}

func TestCreateAndGetOrder(t *testing.T) {
	h := newServer(newStore())

	rec := post(t, h, `{"book_id":"2","quantity":3}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create status = %d, want 201; body %s", rec.Code, rec.Body)
	}
	var created Order
	if err := json.NewDecoder(rec.Body).Decode(&created); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if created.ID == "" || created.BookID != "2" || created.Quantity != 3 || created.Status != "pending" {
		t.Fatalf("unexpected order %+v", created)
	}
	if loc := rec.Header().Get("Location"); loc != "/orders/"+created.ID {
		t.Errorf("Location = %q", loc)
	}

	get := httptest.NewRecorder()
	h.ServeHTTP(get, httptest.NewRequest(http.MethodGet, "/orders/"+created.ID, nil))
	if get.Code != http.StatusOK {
		t.Fatalf("get status = %d, want 200", get.Code)
	}
	var fetched Order
	if err := json.NewDecoder(get.Body).Decode(&fetched); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if fetched != created {
		t.Errorf("fetched %+v, want %+v", fetched, created)
	}
}

func TestCreateOrderRejectsBadInput(t *testing.T) {
	cases := []struct {
		name string
		body string
		want int
	}{
		{"malformed json", `{"book_id":`, http.StatusBadRequest},
		{"unknown field", `{"book_id":"1","quantity":1,"coupon":"x"}`, http.StatusBadRequest},
		{"trailing data", `{"book_id":"1","quantity":1}{}`, http.StatusBadRequest},
		{"missing book", `{"quantity":1}`, http.StatusUnprocessableEntity},
		{"blank book", `{"book_id":"  ","quantity":1}`, http.StatusUnprocessableEntity},
		{"zero quantity", `{"book_id":"1","quantity":0}`, http.StatusUnprocessableEntity},
		{"negative quantity", `{"book_id":"1","quantity":-2}`, http.StatusUnprocessableEntity},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := post(t, newServer(newStore()), tc.body)
			if rec.Code != tc.want {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tc.want, rec.Body)
			}
		})
	}
}

func TestGetUnknownOrder(t *testing.T) {
	rec := httptest.NewRecorder()
	newServer(newStore()).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/orders/42", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("status = %d, want 404", rec.Code)
	}
}

func TestStoreConcurrentCreate(t *testing.T) {
	s := newStore()
	const n = 50
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Create(OrderRequest{BookID: "1", Quantity: 1})
		}()
	}
	wg.Wait()
	seen := make(map[string]bool, n)
	for i := 1; i <= n; i++ {
		o, ok := s.Get(strconv.Itoa(i))
		if !ok {
			t.Fatalf("order %d missing", i)
		}
		if seen[o.ID] {
			t.Fatalf("duplicate id %s", o.ID)
		}
		seen[o.ID] = true
	}
}
