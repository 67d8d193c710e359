#!/bin/sh
# Writes squid's configuration from the environment and runs squid in the foreground.
#   ALLOW     the registries' domains, separated by spaces (a leading dot: and subdomains)
#   UPSTREAM  host:port of the grading host's own proxy, to chain to (optional)
set -eu
conf=/tmp/squid.conf
: > /tmp/registries.txt
for domain in ${ALLOW:-}; do
  printf '%s\n' "$domain" >> /tmp/registries.txt
done
cat > "$conf" <<CONF
http_port 3128
pinger_enable off
pid_filename none
cache deny all
cache_mem 8 MB
access_log stdio:/proc/self/fd/1
cache_log stdio:/proc/self/fd/2
logfile_rotate 0
shutdown_lifetime 1 seconds
via off
forwarded_for delete
acl registries dstdomain "/tmp/registries.txt"
acl web_ports port 80 443
acl tls_port port 443
acl CONNECT method CONNECT
acl literal_ip url_regex -i ^[a-z]+://\[ ^[a-z]+://[0-9.]+(:|/|$) ^\[ ^[0-9.]+:[0-9]+$
acl private_dst dst 0.0.0.0/8 10.0.0.0/8 100.64.0.0/10 127.0.0.0/8 169.254.0.0/16 172.16.0.0/12 192.0.0.0/24 192.168.0.0/16 198.18.0.0/15 224.0.0.0/3 ::1 fc00::/7 fe80::/10
http_access deny !web_ports
http_access deny CONNECT !tls_port
http_access deny literal_ip
http_access deny !registries
http_access deny private_dst
http_access allow registries
http_access deny all
CONF
if [ -n "${UPSTREAM:-}" ]; then
  host=${UPSTREAM%:*}
  port=${UPSTREAM##*:}
  printf 'cache_peer %s parent %s 0 no-query no-digest default\nnever_direct allow all\n' "$host" "$port" >> "$conf"
fi
exec squid -N -f "$conf"
