# Proposed by pipeline-learner: review the document root.
FROM composer:2.8 AS vendor
WORKDIR /app
COPY composer.json composer.lock* ./
RUN composer install --no-dev --no-scripts --prefer-dist --no-interaction
COPY . .

FROM php:8.5-apache
ENV APACHE_DOCUMENT_ROOT=/var/www/html/public
RUN sed -ri -e 's!/var/www/html!${APACHE_DOCUMENT_ROOT}!g' /etc/apache2/sites-available/*.conf && a2enmod rewrite
COPY --from=vendor --chown=www-data:www-data /app /var/www/html
EXPOSE 80
