set terminal pngcairo size 1000,560 font 'Sans,10'
set output 'http.png'

set multiplot layout 2,2
set style data histograms
set style fill solid 0.8 border -1
set grid ytics
set yrange [0:*]
set key off
set title 'GET /?name=bench (fork sh + wc): requests/s'
plot 'http.dat' using 2:xtic(1) lc rgb '#3366aa'
set title 'GET /?name=bench: p99 latency (ms)'
plot 'http.dat' using 3:xtic(1) lc rgb '#aa6633'
set title 'GET /healthz: requests/s'
plot 'http.dat' using 4:xtic(1) lc rgb '#3366aa'
set title 'GET /healthz: p99 latency (ms)'
plot 'http.dat' using 5:xtic(1) lc rgb '#aa6633'
unset multiplot
