// The Go function of the false-positive test: net/http, a backend through the default
// client (pooled keep-alive connections).
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
)

func main() {
	backend := "http://" + os.Getenv("BACKEND") + "/"
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/" && r.Method == http.MethodGet:
			fmt.Fprint(w, "hello from go\n")
		case r.URL.Path == "/echo" && r.Method == http.MethodPost:
			n, _ := io.Copy(io.Discard, r.Body)
			fmt.Fprintf(w, "%d bytes\n", n)
		case r.URL.Path == "/backend":
			resp, err := http.Get(backend)
			if err != nil {
				http.Error(w, "backend: "+err.Error(), http.StatusBadGateway)
				return
			}
			defer resp.Body.Close()
			io.Copy(w, resp.Body)
		default:
			http.NotFound(w, r)
		}
	})
	if err := http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), mux); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
