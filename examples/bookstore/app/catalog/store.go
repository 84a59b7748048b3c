package main

import (
	"sort"
	"sync"
)

// Book is one title in the catalog.
type Book struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Author string `json:"author"`
	Price  int    `json:"price_cents"`
	Stock  int    `json:"stock"`
}

// store is an in-memory, read-mostly book store.
type store struct {
	mu    sync.RWMutex
	books map[string]Book
}

func newStore(books []Book) *store {
	s := &store{books: make(map[string]Book, len(books))}
	for _, b := range books {
		s.books[b.ID] = b
	}
	return s
}

// List returns every book, ordered by ID so responses are stable.
func (s *store) List() []Book {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Book, 0, len(s.books))
	for _, b := range s.books {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Get returns the book with the given ID.
func (s *store) Get(id string) (Book, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b, ok := s.books[id]
	return b, ok
}

func seedBooks() []Book {
	return []Book{
		{ID: "1", Title: "The Pragmatic Programmer", Author: "Andrew Hunt, David Thomas", Price: 4299, Stock: 12},
		{ID: "2", Title: "The Go Programming Language", Author: "Alan Donovan, Brian Kernighan", Price: 3999, Stock: 7},
		{ID: "3", Title: "Designing Data-Intensive Applications", Author: "Martin Kleppmann", Price: 4599, Stock: 4},
		{ID: "4", Title: "Site Reliability Engineering", Author: "Betsy Beyer et al.", Price: 3499, Stock: 9},
	}
}
