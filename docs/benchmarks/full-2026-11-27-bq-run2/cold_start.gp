set terminal pngcairo size 1000,560 font 'Sans,10'
set output 'cold_start.png'

set title 'Cold start: from mkdir of the cgroup (CDF over all samples)'
set xlabel 'microseconds since the cgroup was created'
set ylabel 'fraction of cold starts'
set grid
set key bottom right
set logscale x
plot 'cold_start.dat' using 2:1 with steps lw 2 title 'registered (kernel covers it)',      '' using 3:1 with steps lw 2 title 'first syscall visible through the API'
