# order-consumer (and order-gateway and the other tools) on Debian 12, built
# from this repo.
#   docker build -t orderline .
#   docker run --rm -e ORDERLINE_BROKERS=kafka:9092 \
#       -e ORDERLINE_DB='host=postgres dbname=orderline user=orderline password=...' orderline
#   docker run ... --entrypoint order-gateway orderline --listen 0.0.0.0:8080 --auth-tokens FILE
# Every folder CMakeLists.txt builds from is copied (tests/ only with
# ORDERLINE_TESTS): scripts/image-check builds this file for real.
FROM debian:12-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
        build-essential cmake ninja-build pkg-config \
        librdkafka-dev libpq-dev libjansson-dev libmicrohttpd-dev libgnutls28-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake cmake
COPY common common
COPY producer producer
COPY consumer consumer
COPY gateway gateway
COPY results results
COPY audit audit
COPY bench bench
COPY schemas schemas
RUN cmake -S . -B build -G Ninja -DORDERLINE_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    && cmake --build build

FROM debian:12-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
        librdkafka1 libpq5 libjansson4 libmicrohttpd12 libgnutls30 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --no-create-home orderline
COPY --from=build /src/build/order-consumer /src/build/order-producer /src/build/order-results \
     /src/build/order-audit /src/build/order-gateway /usr/local/bin/
USER orderline
EXPOSE 9464 8080
ENTRYPOINT ["order-consumer"]
CMD ["--metrics-addr", "0.0.0.0:9464"]
