module bookstore/catalog

go 1.24
