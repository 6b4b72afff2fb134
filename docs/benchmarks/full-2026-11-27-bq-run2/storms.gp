set terminal pngcairo size 1000,560 font 'Sans,10'
set output 'storms.png'

set multiplot layout 1,2
set style data histograms
set style fill solid 0.8 border -1
set grid ytics
set yrange [0:*]
set key off
set title 'exec storm (fork + exec /bin/true)'
set ylabel 'execs per second'
plot 'storms.dat' using 2:xtic(1) lc rgb '#3366aa'
set title 'connect storm (loopback TCP)'
set ylabel 'connects per second'
plot 'storms.dat' using 3:xtic(1) lc rgb '#33aa66'
unset multiplot
