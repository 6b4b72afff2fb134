set terminal pngcairo size 1000,560 font 'Sans,10'
set output 'syscall_cost.png'

set title 'Cost added per syscall (ns, median of paired differences to no eBPF)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel 'ns added per syscall'
set key top left
set grid ytics
set yrange [0:*]
set arrow from graph 0, first 217.08 to graph 1, first 217.08 nohead dt 2 lc rgb '#777777'
set arrow from graph 0, first 361.8 to graph 1, first 361.8 nohead dt 3 lc rgb '#aa0000'
set label '1.2x floor (getppid)' at graph 0.01, first 217.08 offset 0,0.6 tc rgb '#777777'
set label '2x floor (getppid)' at graph 0.01, first 361.8 offset 0,0.6 tc rgb '#aa0000'
plot 'syscall_cost.dat' using 2:xtic(1) title 'getppid', '' using 3 title 'openat+close (per syscall)'
