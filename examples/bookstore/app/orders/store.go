package main

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Order is a customer's request for some copies of one book.
type Order struct {
	ID        string    `json:"id"`
	BookID    string    `json:"book_id"`
	Quantity  int       `json:"quantity"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
}

// OrderRequest is the body accepted by POST /orders.
type OrderRequest struct {
	BookID   string `json:"book_id"`
	Quantity int    `json:"quantity"`
}

// Validate reports the first problem with the request, if any.
func (r OrderRequest) Validate() error {
	if strings.TrimSpace(r.BookID) == "" {
		return errors.New("book_id is required")
	}
	if r.Quantity <= 0 {
		return errors.New("quantity must be greater than zero")
	}
	return nil
}

// store keeps orders in memory; safe for concurrent use.
type store struct {
	mu     sync.Mutex
	nextID int
	orders map[string]Order
	now    func() time.Time
}

func newStore() *store {
	return &store{orders: make(map[string]Order), now: time.Now}
}

// Create records a new pending order and returns it.
func (s *store) Create(req OrderRequest) Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	o := Order{
		ID:        strconv.Itoa(s.nextID),
		BookID:    strings.TrimSpace(req.BookID),
		Quantity:  req.Quantity,
		Status:    "pending",
		CreatedAt: s.now().UTC(),
	}
	s.orders[o.ID] = o
	return o
}

// Get returns the order with the given ID.
func (s *store) Get(id string) (Order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	return o, ok
}
