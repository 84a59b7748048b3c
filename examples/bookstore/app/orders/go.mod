module bookstore/orders

go 1.24
