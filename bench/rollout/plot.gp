# Plots go run ./bench/rollout's output (bench/rollout/results.txt) into
# bench/rollout.png: gnuplot bench/rollout/plot.gp
set terminal pngcairo size 1000,420 font ",10"
set output "bench/rollout.png"
set multiplot layout 1,2
set grid
set ylabel "instances a second"
set title "against the round trip (20,000 instances)"
set xlabel "round trip (ms)"
plot "< grep '^rtt ' bench/rollout/results.txt" using 3:6 with linespoints pt 7 title "rollout", \
     "< grep '^rtt ' bench/rollout/results.txt" using 3:(64000.0/($3 > 0 ? $3 : 1/0)) with lines dt 2 title "64 in flight, no overhead"
set title "against the instance count (round trip 0 ms)"
set xlabel "instances"
set logscale x
set format x "10^{%L}"
set yrange [0:*]
plot "< grep '^count ' bench/rollout/results.txt" using 2:6 with linespoints pt 7 title "rollout"
unset multiplot
