# Build the WAR, then run it on the official Jetty 12.1 image with this repository's
# jetty-base/ (the same base the integration tests deploy to).
FROM maven:3.9-eclipse-temurin-21 AS build
WORKDIR /src
COPY pom.xml .
RUN mvn -B -q dependency:go-offline
COPY src ./src
RUN mvn -B -q package -DskipTests

FROM jetty:12.1-jdk21
# The image's JETTY_BASE is /var/lib/jetty: replace its configuration with ours.
USER root
RUN rm -rf /var/lib/jetty/start.d /var/lib/jetty/start.ini /var/lib/jetty/webapps
COPY --chown=jetty:jetty jetty-base/ /var/lib/jetty/
COPY --chown=jetty:jetty --from=build /src/target/cerebras-proxy.war /var/lib/jetty/webapps/ROOT.war
USER jetty
# The image listens on all interfaces (jetty-base/ names no host): the webapp cannot see
# that portably, so say it, for a louder startup warning while the pool is open.
ENV PROXY_PUBLIC=true
EXPOSE 8080
