module github.com/fjordlb/fjord

go 1.26.8
