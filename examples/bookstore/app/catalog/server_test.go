package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func testServer() http.Handler {
	return newServer(newStore(seedBooks()))
}

func TestHealthz(t *testing.T) {
	rec := httptest.NewRecorder()
	testServer().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200", rec.Code)
	}
}

func TestListBooks(t *testing.T) {
	rec := httptest.NewRecorder()
	testServer().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/books", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var books []Book
	if err := json.NewDecoder(rec.Body).Decode(&books); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if len(books) != len(seedBooks()) {
		t.Fatalf("got %d books, want %d", len(books), len(seedBooks()))
	}
	for i := 1; i < len(books); i++ {
		if books[i-1].ID >= books[i].ID {
			t.Errorf("books not sorted by id: %q before %q", books[i-1].ID, books[i].ID)
		}
	}
}

func TestGetBook(t *testing.T) {
	rec := httptest.NewRecorder()
	testServer().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/books/2", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200", rec.Code)
	}
	var b Book
	if err := json.NewDecoder(rec.Body).Decode(&b); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if b.ID != "2" || b.Title != "The Go Programming Language" {
		t.Errorf("got %+v", b)
	}
}

func TestGetUnknownBook(t *testing.T) {
	rec := httptest.NewRecorder()
	testServer().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/books/does-not-exist", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("status = %d, want 404", rec.Code)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	rec := httptest.NewRecorder()
	testServer().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/books", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("status = %d, want 405", rec.Code)
	}
}

func TestEnvOr(t *testing.T) {
	t.Setenv("CATALOG_TEST_PORT", "9090")
	if got := envOr("CATALOG_TEST_PORT", "8080"); got != "9090" {
		t.Errorf("envOr = %q, want 9090", got)
	}
	if got := envOr("CATALOG_TEST_UNSET", "8080"); got != "8080" {
		t.Errorf("envOr = %q, want 8080", got)
	}
}
