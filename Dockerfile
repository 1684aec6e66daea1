# A static sopbot binary on a distroless base, running as a non-root user.
# The SQLite driver is pure Go, so CGO stays off and no libc is needed.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w" -o /out/sopbot ./cmd/sopbot \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/sopbot /usr/local/bin/sopbot
# An empty data directory owned by the runtime user, so a fresh volume is writable.
COPY --from=build --chown=65532:65532 /out/data /var/lib/sopbot
# The database lives on a volume mounted here; point SOPBOT_DATABASE at it.
ENV SOPBOT_DATABASE=/var/lib/sopbot/sopbot.db \
    SOPBOT_LISTEN=:8080
VOLUME ["/var/lib/sopbot"]
EXPOSE 8080
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/sopbot"]
CMD ["serve"]
