# The local cloud double (double.py) for a shell suite. Source it after
# setting API (host:port of the HTTPS API), CTL (host:port of its control
# port) and T (a work directory whose certs/ mkcerts.sh has made); then
#   double_start [CERT]  start it (with certs/CERT.pem and .key; default
#                     server), wait until it answers (1 when it does not)
#   double_stop       stop it (its state goes with it)
#   ctl METHOD PATH [FILE]   a control request (FILE: the body)
# Its output goes to $T/double.log.
double_pid=
double_start() {
	setsid python3 "$(dirname "${BASH_SOURCE[0]}")/double.py" "${API##*:}" "${CTL##*:}" \
		"$T/certs/${1:-server}.pem" "$T/certs/${1:-server}.key" "$T" >>"$T/double.log" 2>&1 &
	double_pid=$!
	for _ in $(seq 50); do curl -s -o /dev/null "http://$CTL/requests" && return 0; sleep 0.1; done
	echo "the cloud double did not start" >&2
	return 1
}
double_stop() { [ -z "$double_pid" ] || { kill "$double_pid"; wait "$double_pid"; } 2>/dev/null; double_pid=; }
ctl() { curl -sf -X "$1" "http://$CTL$2" ${3:+--data-binary "@$3"}; }
