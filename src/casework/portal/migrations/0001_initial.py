# The customer portal: sign-in links, the rate limit, passwords, portal forms.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('customers', '0004_contract_data_usage_gb'),
    ]

    operations = [
        migrations.CreateModel(
            name='PortalForm',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('code', models.SlugField(unique=True, verbose_name='code')),
                ('case_type', models.SlugField(verbose_name='case type')),
                ('title_de', models.CharField(max_length=200, verbose_name='title (German)')),
                ('title_en', models.CharField(max_length=200, verbose_name='title (English)')),
                ('intro_de', models.TextField(blank=True, verbose_name='introduction (German)')),
                ('intro_en', models.TextField(blank=True, verbose_name='introduction (English)')),
                ('fields', models.JSONField(default=list, verbose_name='fields')),
                ('required', models.JSONField(blank=True, default=list, verbose_name='required fields')),
                ('preset', models.JSONField(blank=True, default=dict, verbose_name='fixed data')),
                ('labels', models.JSONField(blank=True, default=dict, verbose_name='labels')),
                ('service_type', models.CharField(blank=True, max_length=20, verbose_name='service type')),
                ('position', models.PositiveSmallIntegerField(default=0, verbose_name='position')),
                ('is_active', models.BooleanField(default=True, verbose_name='offered in the portal')),
            ],
            options={
                'verbose_name': 'portal form',
                'verbose_name_plural': 'portal forms',
                'ordering': ['position', 'code'],
            },
        ),
        migrations.CreateModel(
            name='PortalAccount',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('password', models.CharField(max_length=256, verbose_name='password')),
                ('password_set_at', models.DateTimeField(verbose_name='password set at')),
                ('customer', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='portal_accounts', to='customers.customer', verbose_name='customer')),
            ],
            options={
                'verbose_name': 'portal account',
                'verbose_name_plural': 'portal accounts',
                'ordering': ['-password_set_at', '-pk'],
            },
        ),
        migrations.CreateModel(
            name='SignInAttempt',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.CharField(max_length=64)),
                ('attempted_at', models.DateTimeField()),
            ],
            options={
                'indexes': [models.Index(fields=['key', 'attempted_at'], name='portal_attempt_key'), models.Index(fields=['attempted_at'], name='portal_attempt_time')],
            },
        ),
        migrations.CreateModel(
            name='SignInLink',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('token_sha256', models.CharField(max_length=64, unique=True)),
                ('created_at', models.DateTimeField(verbose_name='created at')),
                ('expires_at', models.DateTimeField(verbose_name='expires at')),
                ('used_at', models.DateTimeField(blank=True, null=True, verbose_name='used at')),
                ('requested_from', models.CharField(blank=True, max_length=64, verbose_name='requested from')),
                ('customer', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='customers.customer', verbose_name='customer')),
            ],
            options={
                'verbose_name': 'sign-in link',
                'verbose_name_plural': 'sign-in links',
                'indexes': [models.Index(fields=['expires_at'], name='portal_link_expiry')],
            },
        ),
    ]
