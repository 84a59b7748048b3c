module bookstore/storefront

go 1.24
