set terminal pngcairo size 1000,560 font 'Sans,10'
set output 'footprint.png'

set multiplot layout 1,2
set style data histograms
set style fill solid 0.8 border -1
set grid ytics
set yrange [0:*]
set key off
set xtics rotate by -30
set title 'agent RSS (MiB); target <= 64 MiB with 1,000 functions'
plot 'footprint.dat' using 2:xtic(1) lc rgb '#6633aa'
set title 'agent CPU (% of one core); target < 2.0% idle'
plot 'footprint.dat' using 3:xtic(1) lc rgb '#aa3366'
unset multiplot
