# Proposed by pipeline-learner: review the binary name and the port.
FROM rust:1.96 AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked && find target/release -maxdepth 1 -type f -perm -u+x -exec cp {} /app \;

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /app /app
EXPOSE 8080
ENTRYPOINT ["/app"]
