# Test and demo certificates, generated with the openssl command line into a directory:
#   ca.{crt,key}        the CA both brokers and the REST stand-in are signed by
#   server.{crt,key}    127.0.0.1 / localhost
#   sim.{crt,key}       the simulator's client certificate on the cloud broker
#   client.{crt,key}    the account's certificate, also as client.p12 (legacy encryption, like the
#                       Bluetti cloud's), password in client.p12.password
make_certs() {
  local dir=$1
  (
    cd "$dir"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 30 -subj "/CN=bluetti-bridge test CA" 2>/dev/null
    local name
    for name in server sim client; do
      openssl req -newkey rsa:2048 -nodes -keyout "$name.key" -out "$name.csr" -subj "/CN=bluetti-$name" 2>/dev/null
      printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$name.ext"
      openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$name.crt" -days 30 -extfile "$name.ext" 2>/dev/null
    done
    head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' >client.p12.password
    openssl pkcs12 -export -legacy -inkey client.key -in client.crt -certfile ca.crt -out client.p12 \
      -passout "file:client.p12.password" 2>/dev/null
    chmod 600 ./*.key client.p12 client.p12.password
  )
}
