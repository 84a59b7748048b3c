module bookstore/payments-worker

go 1.24
