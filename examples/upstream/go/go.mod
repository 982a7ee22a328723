module example.com/sessiongate-upstream

go 1.19
