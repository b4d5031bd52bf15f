# Proposed by pipeline-learner: review the jar name and the port.
FROM gradle:9.1-jdk25 AS build
WORKDIR /src
COPY . .
RUN gradle bootJar --no-daemon || gradle assemble --no-daemon

FROM eclipse-temurin:25-jre
WORKDIR /app
COPY --from=build /src/build/libs/*.jar app.jar
RUN useradd --system app
USER app
EXPOSE 8080
ENTRYPOINT ["java", "-jar", "/app/app.jar"]
